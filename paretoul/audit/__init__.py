"""Many-model audits of forgetting: the NeurIPS 2023 Machine Unlearning Challenge score."""
