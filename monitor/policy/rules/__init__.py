"""The built-in policy rules, one module per category; ``registry.RULES`` lists them all."""
