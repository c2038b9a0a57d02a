"""Fusers: combine per-seed ranked lists into one ranking."""
