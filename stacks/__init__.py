"""Deployable stacks and the stages that group them. Stacks only compose and grant."""
