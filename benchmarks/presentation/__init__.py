"""Presentation: formatting, markdown tables, figures, the HTML page, and the reports assembled from them."""
