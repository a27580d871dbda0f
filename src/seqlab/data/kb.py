"""Knowledge bases of `subject relation object` triples (the facts a question is answered from, or the
graph whose missing links a model predicts), and questions whose answers lie along a path of relations
from an entity the question names.

A KB file holds one triple per line, its three fields separated by tabs (or, where no tab is, by
spaces). Question files follow PathQuestion's layout (Zhou et al. 2018):

    question<TAB>answer(answer1/answer2/…)<TAB>subject#r1#e1#r2#e2…#answer[#<end>#answer]

A question record is {"question", "topic", "relations", "answers"}: the entity the path starts from,
the relations it follows and the answers it reaches; to answer, {"question"} alone (the topic is the
first word of the question that the KB knows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.data.download import cache_dir
from seqlab.data.text import SPECIAL_TOKENS
from seqlab.errors import UserError
from seqlab.files import atomic_write, read_text

END = "<end>"  # the path's last step: stop here
TOPIC = "<topic>"  # how a path model reads a question's topic entity
FIRST_ENTITY = len(SPECIAL_TOKENS)  # a link model's token id of its first entity
TAILS_SHOWN = 10  # the entities a link model's prediction lists per query


@dataclass
class KnowledgeBase:
    triples: list[tuple[str, str, str]]
    edges: dict[str, dict[str, list[str]]] = field(init=False)  # subject → relation → objects, in file order

    def __post_init__(self):
        self.edges = {}
        for subject, relation, obj in self.triples:
            self.edges.setdefault(subject, {}).setdefault(relation, []).append(obj)

    def knows(self, entity: str) -> bool:
        return entity in self.edges

    def relations_from(self, entities: Iterable[str]) -> set[str]:
        return {r for e in entities for r in self.edges.get(e, {})}

    def follow(self, entities: Iterable[str], relation: str) -> list[str]:
        """The objects that `relation` leads to from any of `entities`, each once, in order."""
        reached = (o for e in entities for o in self.edges.get(e, {}).get(relation, []))
        return list(dict.fromkeys(reached))

    def walk(self, topic: str, relations: list[str]) -> list[str]:
        entities = [topic]
        for relation in relations:
            entities = self.follow(entities, relation)
        return entities

    def answer(self, topic: str, labels: list[str], scores: list[list[float]]) -> dict:
        """From `topic`, hop by hop, the likeliest relation by `scores` (P, len(labels)) that leaves the
        entities reached (or the end, after the first hop): the answers and the path that reached them."""
        entities, path = [topic], []
        for hop, row in enumerate(scores):
            allowed = self.relations_from(entities) | ({END} if hop else set())
            options = [i for i, label in enumerate(labels) if label in allowed]
            if not options:
                break
            relation = labels[max(options, key=row.__getitem__)]
            if relation == END:
                break
            reached = self.follow(entities, relation)
            path.append({"relation": relation, "reached": reached})
            entities = reached
        answers = entities if path else []
        return {"topic": topic, "answer": answers[0] if answers else None, "answers": answers, "path": path}

    def topic_of(self, words: list[str]) -> str | None:
        """The first of `words` that is an entity with facts in the KB."""
        return next((w for w in words if self.knows(w)), None)

    def write(self, path: Path) -> None:
        atomic_write(path, "".join(f"{s}\t{r}\t{o}\n" for s, r, o in self.triples))


def kb_path(name: str) -> Path:
    """data.kb: a file, or a file inside the dataset cache (where a registered dataset keeps its KB)."""
    for path in (Path(name), cache_dir() / name):
        if path.is_file():
            return path
    raise UserError(f"data.kb={name}: no such file (nor in the dataset cache, {cache_dir()})")


def read_kb(path: Path) -> KnowledgeBase:
    return KnowledgeBase(read_triples(path))


def read_triples(path: Path) -> list[tuple[str, str, str]]:
    """The `subject relation object` lines of a file (knowledge-graph splits such as WN18RR's too)."""
    triples = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        parts = [p.strip() for p in parts if p.strip()]
        if len(parts) != 3:
            raise UserError(
                f"{path}:{number}: a knowledge-base line holds three fields, subject relation object; "
                f"this one has {len(parts)}"
            )
        triples.append((parts[0], parts[1], parts[2]))
    if not triples:
        raise UserError(f"{path} holds no triples")
    return triples


def question_words(question: str, topic: str) -> list[str]:
    """The question's words as a path model reads them: its topic entity as the word TOPIC."""
    return [TOPIC if w == topic else w for w in question.split()]


def link_query(text: str, n: int) -> dict:
    """The record of a typed link-prediction query `HEAD RELATION` (a tab or spaces between), number `n`."""
    parts = text.split("\t") if "\t" in text else text.split()
    if len(parts) != 2:
        raise UserError(f"query {n} should be 'HEAD RELATION'; got '{text}'")
    return {"head": parts[0].strip(), "relation": parts[1].strip()}


def relation_ids(entities: list[str], relations: list[str]) -> dict[str, int]:
    """A link model's token id of each relation: after the special tokens and the entities (entity i is
    token FIRST_ENTITY + i)."""
    return {r: FIRST_ENTITY + len(entities) + i for i, r in enumerate(relations)}


def read_questions(path: Path, labelled: bool) -> list[dict]:
    """Question records of a file in PathQuestion's layout; unlabelled, also one question per line."""
    records = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if not labelled and len(fields) == 1:
            records.append({"question": fields[0].strip()})
            continue
        if len(fields) < 3:
            raise UserError(
                f"{path}:{number}: expected question<TAB>answer(alternatives)<TAB>path, with the path "
                "as subject#relation#entity#…"
            )
        question, answer, path_field = (f.strip() for f in fields[:3])
        steps = path_field.split("#")
        if END in steps:
            steps = steps[: steps.index(END)]
        if len(steps) < 3 or len(steps) % 2 == 0:
            raise UserError(f"{path}:{number}: the path '{path_field}' is not subject#relation#entity#…")
        alternatives = answer[answer.find("(") + 1 : answer.rfind(")")] if "(" in answer else answer
        answers = [a for a in alternatives.split("/") if a] or [steps[-1]]
        records.append(
            {"question": question, "topic": steps[0], "relations": steps[1::2], "answers": answers}
        )
    if not records:
        raise UserError(f"{path} holds no questions")
    return records
