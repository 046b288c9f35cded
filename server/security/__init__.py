"""Security adapters: the broker's access control generated from the device registry."""
