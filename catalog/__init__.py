"""The catalog: ML projects, models, owners and pipelines, and what needs maintenance."""
