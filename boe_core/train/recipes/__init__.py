"""One module per training recipe; boe_core.train.RECIPES names them."""
