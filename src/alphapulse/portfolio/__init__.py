"""The ledger (cash, positions, P&L) and portfolio construction."""
