"""Analytics: columnar, vectorised models over members' purchase histories.

`clv_summary` turns a transaction table into the per-customer RFM summary (frequency,
recency, T, monetary value); `clv` fits the BG/NBD and Gamma-Gamma models to it and
predicts purchases, the probability of being alive and lifetime value; `clv_report` puts
the two together for the command line; `cdnow` names the shipped CDNOW sample and the
parameter estimates the papers publish on it. See docs/clv.md.
"""
