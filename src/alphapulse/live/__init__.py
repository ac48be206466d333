"""Paper trading: live feeds, the real-time runtime around the one engine, the step
journal that makes a session resumable after a crash, and the Alpaca paper venue."""
