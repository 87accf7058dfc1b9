"""Training loops: sft.py (teacher forcing) and rl.py (policy gradient / RAFT). Shared pieces in common.py."""
