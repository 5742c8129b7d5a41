"""streamd's resident daemon and its operator CLI."""
