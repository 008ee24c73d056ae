"""The papers of the specter2_layout fixture: written for it, of varied length and content.

One has no abstract (its text ends in "[SEP]"), one is far longer than 512 tokens (truncated), others carry
accents, Greek letters, numbers and punctuation.
"""

_LONG_ABSTRACT = " ".join([
    "Large collections of scientific articles are hard to navigate without good representations of documents.",
    "We study how citation links can supervise a transformer encoder so that related papers receive nearby vectors,",
    "and how small task-specific modules can specialise one shared encoder for search, proximity, classification",
    "and regression. Our training data pairs a query paper with a cited paper and with an uncited paper drawn from",
    "the same field; hard negatives are papers cited by the cited paper but not by the query. We compare triplet",
    "margin losses with contrastive objectives, vary the margin between 0.5 and 2.0, and report mean average",
    "precision, nDCG@10 and recall@100 on twelve benchmark tasks. The encoder is initialised from a model",
    "pre-trained on 1.14 million full-text papers from the biomedical and computer science domains, with a",
    "vocabulary built from the same corpus (31,090 word pieces). Adapters with a bottleneck of 48 dimensions are",
    "inserted after the feed-forward block of each of the twelve layers; only the adapters are trained in the",
    "second stage, which keeps the base model frozen and lets one deployment serve every task by switching a few",
    "megabytes of weights. On citation prediction the adapted model improves over the base by 3.1 points of MAP;",
    "on ad-hoc search with short queries the gain is larger (5.4 points), because queries and papers then use",
    "separate adapters that learn their different styles of text. We analyse failure cases: papers with very short",
    "abstracts, papers whose titles are formulas (e.g. 'On SU(2) × U(1) gauge theories'), and non-English",
    "abstracts, which the uncased vocabulary splits into many short pieces. Ablations show that the layer norm",
    "applied before the adapter matters (removing it costs 1.2 points), that a reduction factor of 16 is a good",
    "trade-off between size and accuracy, and that mixing tasks in one batch helps classification but hurts",
    "regression of citation counts. We release code, data splits and all trained modules under a permissive",
    "licence, and we describe how to reproduce every table on a single GPU in under a day. Finally, we discuss",
    "what document embeddings cannot capture: the full text beyond the first 512 tokens, figures and tables,",
    "and the evolving context of a paper as later work cites it for reasons its authors did not anticipate.",
    "Future work will extend the model to full texts with hierarchical encoders, study multilingual corpora,",
    "and examine how embeddings drift as fields change over decades of publication, from the early days of",
    "statistical methods to the current era of very large pre-trained models and retrieval-augmented systems.",
    "We also report the energy used to train each variant, which ranges from 14 to 96 kWh depending on the",
    "number of steps, batch size and sequence length, and we give guidance on choosing these settings when",
    "compute is limited: shorter sequences lose little accuracy for titles with abstracts but a great deal",
    "for full texts, and smaller batches need more steps but converge to the same quality in our experiments.",
])

PAPERS = [
    {"title": "Citation-informed transformers for document-level representation learning",
     "abstract": "We pretrain a transformer on citation triplets so that papers which cite each other obtain nearby embeddings."},
    {"title": "Attention is not explanation", "abstract": None},
    {"title": "Multi-format adapters for scientific document embeddings", "abstract": _LONG_ABSTRACT},
    {"title": "Protein folding with attention over residue pairs",
     "abstract": "Deep networks predict three-dimensional structures from sequence; accuracy approaches experiment for 87% of domains."},
    {"title": "Über die Stabilität großer Netzwerke",
     "abstract": "Wir zeigen, dass die Größe der Netzwerke (≈ 10⁶ Knoten) ihre Stabilität beeinflusst."},
    {"title": "A note on β-decay rates at 2.5 σ",
     "abstract": "Measured rates differ from the Standard Model by 2.5σ; systematic errors of ±0.3% cannot explain it."},
    {"title": "Graph neural networks for molecule property prediction",
     "abstract": "Message passing over atoms and bonds predicts solubility, toxicity and binding affinity. We compare "
                 "five architectures on eleven datasets and find that simple models with good features remain "
                 "competitive; pre-training on 2M unlabelled molecules helps most when labels are scarce."},
    {"title": "Étude des propriétés thermiques de l'eau supercritique",
     "abstract": "Nous mesurons la capacité thermique près du point critique (T = 647 K, p = 22.1 MPa)."},
    {"title": "Short", "abstract": "Yes."},
    {"title": "CRISPR–Cas9 off-target effects in human cells: a systematic review",
     "abstract": "We screened 1,204 studies [2013–2023] and included 87. Off-target rates varied from 0.1% to 60% "
                 "depending on guide design, delivery (plasmid vs. RNP) and detection method (GUIDE-seq, "
                 "CIRCLE-seq, whole-genome sequencing). High-fidelity variants reduced them by a median of 85%."},
    {"title": "Reinforcement learning for chip floorplanning",
     "abstract": "An agent places macros on a canvas and is rewarded by wirelength, congestion and density; "
                 "placements take hours instead of weeks."},
    {"title": "Climate sensitivity constrained by paleoclimate records",
     "abstract": "Combining proxies from the last glacial maximum and the mid-Pliocene narrows equilibrium "
                 "climate sensitivity to 2.5–4.0 K (66% range), excluding the highest model values."},
]


def paper_text(paper):
    """The model card's input: title + "[SEP]" + abstract (an empty abstract still leaves the "[SEP]")."""
    return paper["title"] + "[SEP]" + (paper["abstract"] or "")
