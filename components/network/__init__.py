from components.network.network import (
    INTERFACE_ENDPOINTS,
    Network,
    closed_security_group,
    https_out_security_group,
)

__all__ = ["INTERFACE_ENDPOINTS", "Network", "closed_security_group", "https_out_security_group"]
