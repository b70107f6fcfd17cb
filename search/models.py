"""The search app keeps no tables of its own: it reads the gene registry
(conversion.models) and the releases (signatures.models)."""
