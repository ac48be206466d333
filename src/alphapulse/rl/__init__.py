"""Reinforcement learning on the backtest engine: the Gymnasium environment (``env``),
training with Stable-Baselines3 (``train``), walk-forward evaluation (``evaluate``) and
registered policies (``policy``, ``registry``). See docs/rl.md."""
