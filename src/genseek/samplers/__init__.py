"""Samplers: one query embedding into several seed vectors."""
