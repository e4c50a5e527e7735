"""Helpers shared by the output checkers in tests/ (numpy only, no biaslab code)."""
