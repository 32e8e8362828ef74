"""Code shared by the movies, reviews and ratings functions."""
