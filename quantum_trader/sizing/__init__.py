"""sizing package."""
