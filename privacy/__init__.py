"""Customer data protection: key rings and authenticated encryption (AES-256-GCM)."""
