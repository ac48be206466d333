"""The ledger (cash, positions, P&L), portfolio construction (signals -> target weights)
and rebalancing rules. ``factory.build_constructor`` makes the configured constructor."""
