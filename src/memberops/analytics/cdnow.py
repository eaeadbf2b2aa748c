"""The CDNOW sample shipped with the package, and the estimates the papers publish on it.

The 1/10 sample of Fader & Hardie's CDNOW cohort (2,357 customers, 6,919 purchases,
1997-01-01 to 1998-06-30); see `data/PROVENANCE.md`. The papers calibrate on the first 39
weeks (to 1997-09-30, time in weeks) and keep the next 39 weeks as the holdout.
"""

from __future__ import annotations

from datetime import date
from importlib.resources import as_file, files

from memberops.analytics.clv import BgNbdParams, GammaGammaParams
from memberops.analytics.clv_summary import Transactions, read_transactions

SAMPLE = "cdnow_sample_transactions.csv"
SUMMARY = "cdnow_customers_summary_with_transactions.csv"
CUSTOMER_COL, DATE_COL, AMOUNT_COL = "customer_id", "date", "spend"
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)

# Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science
# 24(2): BG/NBD on the sample's calibration period, in weeks.
PUBLISHED_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4)
# Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves", JMR 42(4), and
# Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": the 946 customers with
# repeat purchases in the calibration period, z̄ their mean repeat spend.
PUBLISHED_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def load_sample() -> Transactions:
    """The shipped sample as columns (read from the installed package, nothing downloaded)."""
    with as_file(files("memberops.analytics").joinpath("data").joinpath(SAMPLE)) as path:
        return read_transactions(path, customer_col=CUSTOMER_COL, date_col=DATE_COL,
                                 amount_col=AMOUNT_COL)
