"""The organisation configuration: TOML files under config/ read, checked and turned into the
domain's ``Catalog`` (holidays from the ``holidays`` package included). Config side only: it
reads files, so workflow code never imports it; workflows receive what it built, pinned on each
request."""
