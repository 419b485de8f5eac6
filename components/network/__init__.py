from components.network.network import INTERFACE_ENDPOINTS, Network

__all__ = ["INTERFACE_ENDPOINTS", "Network"]
