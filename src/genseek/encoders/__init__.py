"""Encoders: text, images, audio (or raw vectors) into embedding vectors."""
