"""Deterministic synthetic listing cards shaped like the records the extension posts.

Every card is a pure function of ``(seed, stream, index)``, so the 1k library is the first
thousand cards of the 10k one, and any card can be made again without the others (a
near-duplicate is made from the card it copies). Nothing here imports the backend.

Shape (after tests/fixtures/hf-papers/*_records.json): titles with a system name, a colon
and a claim; abstracts of 1–2k characters; 1–30 authors (median about 6); arXiv ids and
dates that agree; upvotes with a long tail; a third with a GitHub repo; tags on about
60% of the papers. About 5% of the cards repeat an earlier title with a small change
(case, punctuation, spelling, one word), under another arXiv id or with no id and other
authors, so the library flags them but merges none; about 5% have no arXiv id.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "hf-papers"

# Cached libraries are keyed by this and the backend's sources: raise it whenever a change
# here or in worker.build makes a different library.
LIBRARY_VERSION = 1

NEAR_DUPLICATE_SHARE = 0.05
NO_ARXIV_SHARE = 0.05
TAGGED_SHARE = 0.6
LIBRARY_ID_BASE = 30000   # library card i has arXiv number 30000 + i (5 digits)
PROBE_ID_BASE = 85000     # probes (cards saved during the run) 85000 + k
MAX_LIBRARY = PROBE_ID_BASE - LIBRARY_ID_BASE
MAX_PROBES = 100000 - PROBE_ID_BASE

# ----------------------------------------------------------------------------- vocabulary
PREFIXES = ("Omni", "Deep", "Flash", "Meta", "Open", "Hyper", "Uni", "Auto", "Mega", "Micro",
            "Neuro", "Quant", "Sparse", "Turbo", "Vision", "Lang", "Code", "Math", "Robo",
            "Gen", "Seq", "Mix", "Fusion", "Star", "Nova", "Echo", "Pixel", "Voxel", "Lumi",
            "Astra", "Chrono", "Geo", "Bio", "Med", "Fin", "Edge", "Cloud", "Swift", "Tiny",
            "Long", "Pano", "Tele", "Sono", "Aero", "Hydra", "Orbit", "Prism", "Atlas")
SUFFIXES = ("Former", "Gen", "Net", "Flow", "Bench", "LM", "GPT", "Mamba", "Diff", "Agent",
            "Coder", "Vid", "Seg", "Mind", "Zero", "X", "Pro", "Lite", "Verse", "Scope",
            "Match", "Tune", "RAG", "Eval", "Pilot", "Sketch", "Fold", "Loop")
NAME_TAILS = ("", "", "", "", "-2", "-V", "3D", "++", "-R1", "-XL", "2.5", "-Omni")
ADJECTIVES = ("Efficient", "Scalable", "Robust", "Sparse", "Multimodal", "Long-Context",
              "Self-Supervised", "Zero-Shot", "Adaptive", "Hierarchical", "Unified",
              "Lightweight", "Interpretable", "Causal", "Contrastive", "Federated",
              "Generalizable", "Controllable", "Faithful", "Compositional", "Training-Free",
              "Parameter-Efficient", "Streaming", "Autoregressive", "Latent", "Agentic",
              "Verifiable", "Data-Efficient", "Continual", "Open-Vocabulary", "Fine-Grained",
              "Cross-Lingual", "Memory-Efficient", "Test-Time", "Reward-Guided", "Native")
NOUNS = ("Transformers", "Diffusion Models", "Language Models", "Agents", "Benchmarks",
         "Reward Models", "Vision-Language Models", "Mixture-of-Experts", "Tokenizers",
         "Retrievers", "Policies", "Encoders", "Attention", "State Space Models",
         "Graph Neural Networks", "World Models", "Flow Matching", "Neural Fields",
         "Gaussian Splatting", "Speculative Decoding", "Preference Optimization",
         "Chain-of-Thought", "Embeddings", "Quantization", "Distillation", "Adapters",
         "Video Generators", "Speech Models", "Code Models", "Multi-Agent Systems",
         "Process Reward Models", "Search Agents", "Small Language Models", "KV Caches")
TASKS = ("Text-to-Image Generation", "Video Understanding", "Code Generation",
         "Mathematical Reasoning", "Speech Recognition", "Machine Translation",
         "3D Reconstruction", "Robot Manipulation", "Question Answering",
         "Document Understanding", "Image Editing", "Protein Design", "Weather Forecasting",
         "Autonomous Driving", "Medical Imaging", "Time Series Forecasting",
         "Software Engineering", "Web Navigation", "Music Generation", "Visual Grounding",
         "Long-Horizon Planning", "Theorem Proving", "Tool Use", "Text-to-Speech",
         "Novel View Synthesis", "Semantic Segmentation", "Instruction Following",
         "Recommendation", "Scientific Discovery", "Table Reasoning", "GUI Agents",
         "Embodied Navigation", "Hallucination Detection", "Retrieval-Augmented Generation")
PROPERTIES = ("Limits", "Role", "Robustness", "Scaling Laws", "Emergence", "Geometry",
              "Calibration", "Dynamics", "Failure Modes", "Sample Efficiency", "Safety")
VERBS = ("Reason", "Plan", "Edit", "Retrieve", "Verify", "Compress", "Align", "Generate",
         "Segment", "Forecast", "Translate", "Summarize", "Ground", "Route", "Critique")
OBJECTS = ("Long Videos", "Scientific Papers", "Multi-Step Tasks", "Code Repositories",
           "Noisy Labels", "Sparse Rewards", "Open Worlds", "Dense Scenes", "Human Feedback",
           "Synthetic Data", "Hidden States", "Many Languages", "Visual Tokens")
METHODS = ("Reinforcement Learning", "Self-Play", "Curriculum Learning", "Model Merging",
           "Contrastive Pretraining", "Synthetic Data", "Tree Search", "Latent Planning",
           "Knowledge Distillation", "Test-Time Scaling", "Iterative Refinement",
           "Structured Pruning", "Low-Rank Adaptation", "Masked Modeling")
METRICS = ("accuracy", "pass@1", "FID", "win rate", "BLEU", "F1", "success rate",
           "throughput", "latency", "exact match", "mIoU", "word error rate")
BASELINES = ("strong baselines", "prior state-of-the-art methods", "proprietary models",
             "larger open models", "the previous best system", "supervised fine-tuning")
FILLER = ("existing approaches often rely on handcrafted heuristics that fail to generalize",
          "this limits their applicability in real-world settings with noisy inputs",
          "we identify a key bottleneck in how intermediate representations are aggregated",
          "our analysis reveals that most errors stem from a small set of failure modes",
          "to address this we introduce a simple yet effective training recipe",
          "the method requires no additional annotation and adds negligible inference cost",
          "we release the code, the data and the model weights to facilitate future research",
          "extensive ablations confirm the contribution of each component",
          "in addition we construct a new benchmark with carefully verified annotations",
          "the approach scales favorably with model size and training compute",
          "we further show that the learned representations transfer across domains",
          "human evaluation indicates a clear preference for our outputs",
          "the framework decouples perception from reasoning which simplifies training",
          "we provide a theoretical analysis explaining when the method is expected to help",
          "results hold across languages, modalities and model families",
          "this suggests a promising direction for building more reliable systems")
TAGS = ("ml/diffusion", "ml/llm", "ml/llm/reasoning", "ml/llm/agents", "ml/rl", "ml/vision",
        "ml/vision/3d", "ml/speech", "ml/efficiency", "ml/multimodal", "ml/theory",
        "ml/datasets", "ml/safety", "robotics", "bio", "To read", "reading-group", "thesis",
        "thesis/related-work", "survey", "cite-later", "reproduce", "important", "teaching",
        "project/alpha", "project/beta", "lab-meeting", "skimmed", "code-available", "math")
FIRST_NAMES = ("Wei", "Jun", "Hao", "Yu", "Xin", "Li", "Ming", "Jie", "Ana", "Maria", "Luca",
               "Marco", "Elena", "Sofia", "Ivan", "Olga", "Dmitri", "Anya", "Ravi", "Priya",
               "Arjun", "Neha", "Amit", "Kiran", "Omar", "Layla", "Yusuf", "Fatima", "Elif",
               "Mehmet", "Karl", "Anna", "Jonas", "Lea", "Tom", "Emma", "Noah", "Olivia",
               "Liam", "Mia", "Lucas", "Chloe", "Hugo", "Ines", "Pedro", "Lucia", "Tiago",
               "Yuki", "Haruto", "Sakura", "Minjun", "Jiwoo", "Seo-yeon", "Nadia", "Zhen",
               "Mina", "Sam", "Alex", "Jordan", "Taylor", "Chen", "Kai", "Rui", "Bo", "Tian",
               "Feng", "Lin", "Ahmed", "Sara", "David", "Daniel", "Michael", "Sarah", "Laura",
               "Julia", "Paul", "Thomas", "Nikolai", "Irina", "Pavel", "Mateo", "Valentina")
SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
            "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Gao", "Kim", "Lee", "Park",
            "Choi", "Jung", "Kang", "Cho", "Yoon", "Tanaka", "Suzuki", "Sato", "Watanabe",
            "Takahashi", "Nakamura", "Kobayashi", "Yamamoto", "Sharma", "Gupta", "Patel",
            "Singh", "Kumar", "Reddy", "Iyer", "Nair", "Das", "Mehta", "Rao", "Smith",
            "Johnson", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Anderson", "Thomas",
            "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker",
            "Hall", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams",
            "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips",
            "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
            "Schulz", "Hoffmann", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi",
            "Romano", "Colombo", "Ricci", "García", "Fernández", "González", "Rodríguez",
            "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Silva", "Santos", "Oliveira",
            "Souza", "Costa", "Pereira", "Almeida", "Dubois", "Durand", "Lefebvre", "Moreau",
            "Laurent", "Simon", "Michel", "Petrov", "Ivanov", "Smirnov", "Kuznetsov",
            "Popov", "Novak", "Horvat", "Kowalski", "Nowak", "Wiśniewski", "Yilmaz", "Kaya",
            "Demir", "Şahin", "Haddad", "Khalil", "Hassan", "Ali", "Ahmed", "Mansour",
            "Okafor", "Mensah", "Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu",
            "Andersson", "Johansson", "Karlsson", "Nilsson", "Jensen", "Nielsen", "Hansen",
            "Virtanen", "Korhonen", "de Vries", "van Dijk", "Bakker", "Janssen", "O'Brien")
SUBMITTERS = ("akhaliq", "taesiri", "librarian-bot", "yuchenlin", "kimgs", "nielsr",
              "AdinaY", "osanseviero", "julien-c", "clem", "merve", "reach-vb")
ORGS = (("deepmind", "Google DeepMind"), ("meta-ai", "Meta AI"), ("nvidia", "NVIDIA"),
        ("alibaba", "Alibaba Group"), ("tsinghua", "Tsinghua University"),
        ("stanford", "Stanford University"), ("mit", "MIT"), ("eth", "ETH Zürich"),
        ("microsoft", "Microsoft Research"), ("allenai", "Allen Institute for AI"))
BRITISH = (("ization", "isation"), ("izing", "ising"), ("ize", "ise"), ("modeling", "modelling"),
           ("behavior", "behaviour"), ("center", "centre"), ("color", "colour"))
ADDED_WORDS = ("Revisited", "Improved", "Extended", "Simple", "Practical")


# ----------------------------------------------------------------------------- helpers
def _rng(seed: int, stream: str, index: int) -> random.Random:
    return random.Random(f"{seed}/{stream}/{index}")


def system_name(rng: random.Random) -> str:
    return rng.choice(PREFIXES) + rng.choice(SUFFIXES) + rng.choice(NAME_TAILS)


def _make_terms(count: int = 15000) -> tuple[list[str], list[float]]:
    """Made-up field words ("Korvane", "Tessalic") with Zipf weights: the long tail of
    rare words that real titles have (a few words are in thousands of titles, most in a
    handful), so that the library's vocabulary grows with its size."""
    syllables = ("ka", "lo", "ri", "ven", "tor", "mi", "sa", "dex", "qui", "bra", "nel", "phi",
                 "zor", "tal", "gen", "mor", "lex", "cy", "tha", "ro", "nu", "pel", "dra",
                 "sto", "ly", "ca", "fen", "gra", "ob", "ush", "en", "ar", "is", "um", "ex")
    rng = random.Random("terms")
    combos = [a + b for a in syllables for b in syllables if a != b]
    combos += [a + b + c for a in syllables for b in syllables for c in syllables[::3]]
    rng.shuffle(combos)
    words, seen = [], set()
    for combo in combos:
        if combo in seen or set(combo) <= set("ivxlcdm"):
            continue
        seen.add(combo)
        words.append(combo.capitalize() + rng.choice(("", "", "ic", "al", "ive", "ed")))
        if len(words) == count:
            break
    cumulative, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1.0 / rank
        cumulative.append(total)
    return words, cumulative


TERMS, _TERM_WEIGHTS = _make_terms()


def term(rng: random.Random) -> str:
    return rng.choices(TERMS, cum_weights=_TERM_WEIGHTS, k=1)[0]


def make_title(rng: random.Random) -> tuple[str, str]:
    """A title and the system name it introduces."""
    name = system_name(rng)
    adj, adj2 = rng.sample(ADJECTIVES, 2)
    noun, noun2 = rng.sample(NOUNS, 2)
    task = f"{term(rng)} {rng.choice(TASKS)}"
    form = rng.randrange(12)
    if form == 0:
        title = f"{name}: {adj} {noun} for {task}"
    elif form == 1:
        title = f"{name}: Scaling {adj} {noun} for {task} with {rng.choice(METHODS)}"
    elif form == 2:
        title = f"Towards {adj} {task} with {noun}"
    elif form == 3:
        title = f"On the {rng.choice(PROPERTIES)} of {adj} {noun} in {task}"
    elif form == 4:
        title = (f"Learning to {rng.choice(VERBS)} {term(rng)} {rng.choice(OBJECTS)} via "
                 f"{rng.choice(METHODS)}")
    elif form == 5:
        title = f"{adj} {noun} Meets {term(rng)} {noun2}: {name} for {task}"
    elif form == 6:
        title = f"Rethinking {task}: {adj} {noun} Are {adj2} Learners"
    elif form == 7:
        title = f"What Makes {noun} {adj} at {task}?"
    elif form == 8:
        title = f"{name}: A {adj} Benchmark for {task} with {adj2} {noun}"
    elif form == 9:
        method, method2 = rng.sample(METHODS, 2)
        title = f"{name}: {adj} and {adj2} {noun} for {task} via {method} and {method2}"
    elif form == 10:
        title = f"Do {noun} Really {rng.choice(VERBS)}? {adj} {task} under {rng.choice(OBJECTS)}"
    else:
        title = f"{name}: {rng.choice(VERBS)}ing {term(rng)} {rng.choice(OBJECTS)} with {adj} {noun}"
    return title, name


def make_abstract(rng: random.Random, title: str, name: str) -> str:
    task = rng.choice(TASKS).lower()
    noun = rng.choice(NOUNS).lower()
    parts = [f"{rng.choice(ADJECTIVES)} {noun} have recently shown strong results on {task}, "
             f"but {rng.choice(FILLER)}.",
             f"We propose {name}, a {rng.choice(ADJECTIVES).lower()} approach to "
             f"{rng.choice(TASKS).lower()} based on {rng.choice(METHODS).lower()}."]
    target = rng.randint(1000, 2000)
    length = sum(len(p) + 1 for p in parts)
    while length < target:
        kind = rng.randrange(4)
        if kind == 3:
            sentence = (f"We study {term(rng).lower()} and {term(rng).lower()} settings, where "
                        f"{rng.choice(FILLER)}.")
        elif kind == 0:
            sentence = (f"On {rng.randint(3, 12)} benchmarks {name} improves "
                        f"{rng.choice(METRICS)} by {rng.randint(1, 40)}.{rng.randint(0, 9)}% over "
                        f"{rng.choice(BASELINES)}.")
        elif kind == 1:
            sentence = (f"Unlike {rng.choice(NOUNS).lower()}, our {rng.choice(NOUNS).lower()} "
                        f"use {rng.choice(METHODS).lower()} to handle {rng.choice(OBJECTS).lower()}.")
        else:
            sentence = rng.choice(FILLER).capitalize() + "."
        parts.append(sentence)
        length += len(sentence) + 1
    return " ".join(parts)


def make_authors(rng: random.Random) -> list[str]:
    count = max(1, min(30, int(rng.lognormvariate(1.75, 0.65))))
    return [f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}" for _ in range(count)]


def _date(rng: random.Random) -> tuple[str, str]:
    year = rng.choice((2023, 2024, 2024, 2025, 2025, 2025, 2026))
    month = rng.randint(1, 6 if year == 2026 else 12)
    day = rng.randint(1, 28)
    return f"{year}-{month:02d}-{day:02d}", f"{year % 100:02d}{month:02d}"


def _date_text(published: str) -> str:
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    y, m, d = published.split("-")
    return f"{months[int(m) - 1]} {int(d)}, {y}"


def _fields(rng: random.Random, title: str, name: str, arxiv_number: int | None) -> dict:
    published, yymm = _date(rng)
    authors = make_authors(rng)
    org = rng.choice(ORGS) if rng.random() < 0.25 else (None, None)
    repo = f"https://github.com/{name.lower().replace('+', 'p')}-team/{name.lower()}" \
        if rng.random() < 0.33 else None
    return {
        "title": title,
        "abstract": make_abstract(rng, title, name),
        "authors": authors,
        "authors_count": len(authors),
        "org_name": org[0], "org_fullname": org[1],
        "published": published,
        "date_text": _date_text(published),
        "arxiv_id": f"{yymm}.{arxiv_number:05d}" if arxiv_number is not None else None,
        "upvotes": min(3000, int(rng.paretovariate(1.1)) - 1),
        "comments": rng.choice((0, 0, 0, 0, 1, 2, 3, 5)),
        "github_repo": repo,
        "github_stars": rng.randint(0, 5000) if repo else None,
        "submitted_by": rng.choice(SUBMITTERS),
    }


def _tags(rng: random.Random) -> list[str]:
    if rng.random() >= TAGGED_SHARE:
        return []
    return rng.sample(TAGS, rng.choice((1, 1, 2, 2, 3, 4)))


def vary_title(rng: random.Random, title: str) -> str:
    """The same title as another listing or a later version might print it."""
    kind = rng.randrange(5)
    if kind == 0:
        return title.lower()
    if kind == 1:
        return title.replace(": ", " - ").replace("-", " ")
    if kind == 2:
        for us, uk in BRITISH:
            if us in title:
                return title.replace(us, uk)
        return title.upper()
    if kind == 3:
        return title.rstrip("?") + " (" + rng.choice(ADDED_WORDS) + ")"
    return title.replace(" and ", " & ").replace(" with ", " With ")


# ----------------------------------------------------------------------------- cards
def library_card(seed: int, i: int) -> dict:
    """Card ``i`` of the library stream (tags included, as saved with tags)."""
    if i >= MAX_LIBRARY:
        raise ValueError(f"at most {MAX_LIBRARY} library cards")
    rng = _rng(seed, "library", i)
    if i > 20 and rng.random() < NEAR_DUPLICATE_SHARE:
        original = library_card(seed, rng.randrange(i // 2, i))
        title = vary_title(rng, original["title"])
        card = _fields(rng, title, original["title"].split(":")[0], LIBRARY_ID_BASE + i)
        card["abstract"] = original["abstract"]
        if rng.random() < 0.3:
            # No id and other people: flagged at most, never merged.
            card["arxiv_id"] = None
            taken = {a.split()[-1] for a in original["authors"]}
            card["authors"] = [a for a in card["authors"] if a.split()[-1] not in taken] \
                or [f"{rng.choice(FIRST_NAMES)} Okonkwo"]
            card["authors_count"] = len(card["authors"])
        else:
            card["authors"] = list(original["authors"])
            card["authors_count"] = len(card["authors"])
        card["tags"] = _tags(rng)
        return card
    title, name = make_title(rng)
    number = None if rng.random() < NO_ARXIV_SHARE else LIBRARY_ID_BASE + i
    card = _fields(rng, title, name, number)
    card["tags"] = _tags(rng)
    return card


def probe_card(seed: int, k: int) -> dict:
    """A new card saved during the run (never in the library), with an arXiv id."""
    if k >= MAX_PROBES:
        raise ValueError(f"at most {MAX_PROBES} probe cards")
    rng = _rng(seed, "probe", k)
    title, name = make_title(rng)
    return _fields(rng, title, name, PROBE_ID_BASE + k)


def dedupe_probes(seed: int, size: int, count: int) -> list[dict]:
    """Cards without an arXiv id for the duplicate check: half are near-duplicates of
    library titles, half are new titles."""
    out = []
    for k in range(count):
        rng = _rng(seed, "dedupe", k)
        if k % 2 == 0:
            original = library_card(seed, rng.randrange(size))
            card = dict(original, title=vary_title(rng, original["title"]), arxiv_id=None)
        else:
            title, name = make_title(rng)
            card = _fields(rng, title, name, None)
        card.pop("tags", None)
        out.append(card)
    return out


def search_queries(seed: int, size: int) -> list[str]:
    """Varied queries: title words, system names, author surnames, tags, abstract
    phrases, a typo'd word, two-word queries."""
    rng = _rng(seed, "queries", size)
    sample = [library_card(seed, rng.randrange(size)) for _ in range(8)]
    names = [c["title"].split(":")[0] for c in sample
             if ":" in c["title"] and " " not in c["title"].split(":")[0]]
    queries = ["diffusion", "transformers", "reasoning", "benchmark", "quantization",
               "segmentation", "gaussian splatting", "speech"]
    queries += [n for n in names[:3]]
    queries += [c["authors"][0].split()[-1] for c in sample[:4]]
    queries += ["reading-group", "ml/vision", "thesis"]
    queries += ["negligible inference cost", "human evaluation", "theoretical analysis"]
    queries += ["trasnformers", "reinforcment", "difusion models"]
    queries += [TERMS[40].lower(), TERMS[900].lower()]
    queries += ["video generators", "robot manipulation", "code repositories"]
    queries += [rng.choice(sample)["title"].split()[-1].strip("?()").lower()]
    return queries


def queried_fields(card: dict) -> str:
    """The text a naive search looks in: title, abstract, authors, tags."""
    return " ".join([card.get("title") or "", card.get("abstract") or "",
                     " ".join(card.get("authors") or []), " ".join(card.get("tags") or [])])


# ----------------------------------------------------------------------------- fixture page
def fixture_page_cards(count: int = 100) -> list[tuple[str, dict]]:
    """The first ``count`` distinct cards of the saved daily pages: (set, record)."""
    out, seen = [], set()
    for s in ("000", "001", "002"):
        records = json.loads((FIXTURES / f"{s}_records.json").read_text())["records"]
        for record in records:
            if record["arxiv_id"] not in seen and len(out) < count:
                seen.add(record["arxiv_id"])
                out.append((s, record))
    return out


def fixture_saved_cards(seed: int) -> list[dict]:
    """Half of the page's cards, saved in every library with a tag or two, so the
    decorated page shows saved states."""
    rng = _rng(seed, "fixture-tags", 0)
    out = []
    for n, (_, record) in enumerate(fixture_page_cards()):
        if n % 2 == 0:
            out.append(dict(record, tags=rng.sample(TAGS, rng.choice((1, 2)))))
    return out


def json_line(card: dict) -> bytes:
    return (json.dumps(card, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
