"""Pure tensor math for RL on outcome rewards: advantages, policy losses, KL, token log-probs.

Every choice is a registry of small functions (`ADVANTAGES["rloo"](rewards)`); nothing here reads
a config or imports transformers. See each module's docstring; tests live in tests/unit/.
"""

from r1repro.algos.advantages import ADVANTAGES
from r1repro.algos.kl import KL_ESTIMATORS, entropy_from_logits, kl_penalized_rewards
from r1repro.algos.logprobs import chunked_token_logprobs, selective_log_softmax
from r1repro.algos.losses import AGGREGATIONS, POLICY_LOSSES

__all__ = [
    "ADVANTAGES",
    "AGGREGATIONS",
    "KL_ESTIMATORS",
    "POLICY_LOSSES",
    "chunked_token_logprobs",
    "entropy_from_logits",
    "kl_penalized_rewards",
    "selective_log_softmax",
]
