"""Developer and CI tooling: the CDK CLI wrapper, synth-and-diff, bench."""
