"""What a platform user submits: the daily pipeline as commands, and EMR's request documents built from them."""
