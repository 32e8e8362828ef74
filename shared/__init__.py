"""Code shared by the movies, reviews, ratings and web functions."""
