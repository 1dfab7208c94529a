"""skmtl.inspection: top_terms and task_similarity on a corpus with known triggers."""

import copy
import doctest
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfVectorizer,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

import skmtl.inspection
from skmtl import MultiTaskTextClassifier
from skmtl._model import private_columns
from skmtl.inspection import task_similarity, top_terms

# Trigger words of each task's classes. "alpha" and "beta" are two sentiment
# tasks over different documents that share their trigger words (as two
# product domains); "colour" is an unrelated binary task, "animal" an unrelated
# 3-class task. Every document also holds filler words that carry no label.
TRIGGERS = {
    "alpha": {"neg": ["awful", "hate"], "pos": ["great", "love"]},
    "beta": {"neg": ["awful", "hate"], "pos": ["great", "love"]},
    "colour": {"blue": ["sky", "ocean"], "red": ["fire", "cherry"]},
    "animal": {"cat": ["meow", "purr"], "dog": ["bark", "fetch"],
               "fish": ["swim", "gill"]},
}
FILLER = [f"filler{i}" for i in range(30)]
TASKS = list(TRIGGERS)


def make_trigger_corpus(n_samples=400, seed=0):
    """Texts and a DataFrame target with one column per task of TRIGGERS.

    Each document has one random label per task and one trigger word of each
    label, plus 4 filler words. "alpha" is labelled on the first half of the
    rows and "beta" on the second half (missing elsewhere), "colour" and
    "animal" everywhere.
    """
    rng = np.random.RandomState(seed)
    texts, rows = [], []
    for i in range(n_samples):
        sentiment = rng.choice(["neg", "pos"])
        labels = {
            "alpha": sentiment if i < n_samples // 2 else None,
            "beta": sentiment if i >= n_samples // 2 else None,
            "colour": rng.choice(["blue", "red"]),
            "animal": rng.choice(["cat", "dog", "fish"]),
        }
        words = [rng.choice(TRIGGERS["alpha"][sentiment])]
        words += [rng.choice(TRIGGERS[t][labels[t]]) for t in ("colour", "animal")]
        words += list(rng.choice(FILLER, size=4))
        rng.shuffle(words)
        texts.append(" ".join(words))
        rows.append(labels)
    return texts, pd.DataFrame(rows, columns=TASKS, dtype=object)


@pytest.fixture(scope="module")
def corpus():
    return make_trigger_corpus()


def _fit_pipeline(texts, Y):
    model = make_pipeline(
        TfidfVectorizer(),
        MultiTaskTextClassifier(n_components=8, max_iter=30, random_state=0),
    )
    return model.fit(texts, Y)


@pytest.fixture(scope="module")
def pipeline(corpus):
    return _fit_pipeline(*corpus)


def _manual_weights(clf, t):
    """Effective weights of task t: (n_features, n_classes_t), by the formula."""
    lo, hi = clf.class_offsets_[t], clf.class_offsets_[t + 1]
    M = clf.shared_coef_ @ clf.head_coef_[lo:hi].T
    # A head has a private column for every class or for none.
    columns = private_columns(clf.class_offsets_, clf.private_offsets_)[lo:hi]
    if clf.private_coef_ is not None and (columns >= 0).all():
        M = M + clf.private_coef_[:, columns]
    return M.astype(np.float64)


# ------------------------------------------------------------------ top_terms


def test_top_terms_ranks_the_trigger_words_first(pipeline):
    terms = top_terms(pipeline, n_terms=2)
    assert list(terms) == TASKS
    for task, classes in TRIGGERS.items():
        assert list(terms[task]) == sorted(classes)
        for label, words in classes.items():
            found = [term for term, _ in terms[task][label]]
            assert sorted(found) == sorted(words), (task, label, found)
            weights = [weight for _, weight in terms[task][label]]
            assert weights == sorted(weights, reverse=True)
            assert all(w > 0 for w in weights)


def test_top_terms_types(pipeline):
    terms = top_terms(pipeline, n_terms=3)
    for per_class in terms.values():
        for label, pairs in per_class.items():
            assert type(label) is str
            assert len(pairs) == 3
            for term, weight in pairs:
                assert type(term) is str and type(weight) is float


def test_top_terms_binary_classes_are_opposite(pipeline):
    n_features = pipeline[-1].n_features_in_
    terms = top_terms(pipeline, n_terms=n_features)
    for task in ("alpha", "beta", "colour"):
        (first, a), (second, b) = terms[task].items()
        a, b = dict(a), dict(b)
        assert set(a) == set(b) and len(a) == n_features
        for term in a:
            assert a[term] == pytest.approx(-b[term])


def test_top_terms_weights_follow_the_formula(pipeline):
    clf = pipeline[-1]
    names = pipeline[0].get_feature_names_out()
    terms = top_terms(pipeline, n_terms=len(names))
    index = {name: j for j, name in enumerate(names)}
    for t, task in enumerate(TASKS):
        M = _manual_weights(clf, t)
        K = M.shape[1]
        for c, label in enumerate(clf.classes_[t]):
            expected = M[:, c] - (M.sum(axis=1) - M[:, c]) / (K - 1)
            got = np.zeros(len(names))
            for term, weight in terms[task][label]:
                got[index[term]] = weight
            assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "params",
    [{"private": True}, {"private": True, "n_components": 0},
     {"activation": "tanh"}],
    ids=["private", "private-only", "tanh"],
)
def test_top_terms_other_architectures(corpus, params):
    texts, Y = corpus
    params = {"n_components": 8, "max_iter": 30, "random_state": 0, **params}
    model = make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier(**params))
    model.fit(texts, Y)
    terms = top_terms(model, n_terms=2)
    for task, classes in TRIGGERS.items():
        for label, words in classes.items():
            assert sorted(t for t, _ in terms[task][label]) == sorted(words)
    # the private part is included in the weights
    clf = model[-1]
    names = model[0].get_feature_names_out()
    M = _manual_weights(clf, 2)  # colour: blue, red
    j = int(np.argmax(M[:, 1] - M[:, 0]))
    assert terms["colour"]["red"][0] == (names[j], pytest.approx(M[j, 1] - M[j, 0]))


def test_top_terms_pipeline_equals_classifier_with_names(pipeline):
    names = pipeline[0].get_feature_names_out()
    from_pipeline = top_terms(pipeline, n_terms=4)
    assert top_terms(pipeline[-1], names, n_terms=4) == from_pipeline
    assert top_terms(pipeline[-1], list(names), n_terms=4) == from_pipeline
    # explicit names override the pipeline's
    upper = [name.upper() for name in names]
    shouted = top_terms(pipeline, upper, n_terms=4)
    assert shouted["alpha"]["pos"][0][0] == from_pipeline["alpha"]["pos"][0][0].upper()


def test_top_terms_default_names_without_pipeline(corpus):
    texts, Y = corpus
    vectorizer = CountVectorizer()
    X = vectorizer.fit_transform(texts)
    clf = MultiTaskTextClassifier(n_components=8, max_iter=30, random_state=0)
    clf.fit(X, Y)
    terms = top_terms(clf, n_terms=2)
    names = vectorizer.get_feature_names_out()
    expected = top_terms(clf, names, n_terms=2)
    for task in TASKS:
        for label in terms[task]:
            got = [term for term, _ in terms[task][label]]
            assert [f"x{list(names).index(t)}" for t, _ in expected[task][label]] == got

    # a DataFrame X gives feature_names_in_
    X_frame = pd.DataFrame(X.toarray(), columns=names)
    clf_frame = MultiTaskTextClassifier(n_components=8, max_iter=30, random_state=0)
    clf_frame.fit(X_frame, Y)
    assert top_terms(clf_frame, n_terms=2) == top_terms(clf_frame, names, n_terms=2)


def test_top_terms_n_terms_larger_than_n_features(pipeline):
    n_features = pipeline[-1].n_features_in_
    terms = top_terms(pipeline, n_terms=n_features + 100)
    assert all(
        len(pairs) == n_features
        for per_class in terms.values()
        for pairs in per_class.values()
    )


def test_top_terms_single_task_int_labels(corpus):
    texts, Y = corpus
    y = Y["animal"].map({"cat": 0, "dog": 1, "fish": 2}).to_numpy(dtype=int)
    model = make_pipeline(
        TfidfVectorizer(),
        MultiTaskTextClassifier(n_components=8, max_iter=30, random_state=0),
    ).fit(texts, y)
    terms = top_terms(model, n_terms=2)
    ((task, per_class),) = terms.items()
    assert task == model[-1].task_names_[0]
    assert list(per_class) == [0, 1, 2]
    assert all(type(label) is int for label in per_class)
    for code, animal in enumerate(["cat", "dog", "fish"]):
        found = sorted(term for term, _ in per_class[code])
        assert found == sorted(TRIGGERS["animal"][animal])


def test_top_terms_float32(corpus):
    texts, Y = corpus
    model = make_pipeline(
        TfidfVectorizer(dtype=np.float32),
        MultiTaskTextClassifier(n_components=8, max_iter=30, random_state=0),
    ).fit(texts, Y)
    assert model[-1].shared_coef_.dtype == np.float32
    terms = top_terms(model, n_terms=2)
    assert sorted(t for t, _ in terms["alpha"]["pos"]) == ["great", "love"]
    assert type(terms["alpha"]["pos"][0][1]) is float


def test_top_terms_errors(corpus, pipeline):
    texts, Y = corpus
    names = pipeline[0].get_feature_names_out()
    with pytest.raises(ValueError, match="feature_names has 3 entries"):
        top_terms(pipeline, ["a", "b", "c"])
    with pytest.raises(ValueError, match=f"fitted on {len(names)} features"):
        top_terms(pipeline[-1], list(names) + ["extra"])
    with pytest.raises(NotFittedError):
        top_terms(MultiTaskTextClassifier())
    with pytest.raises(NotFittedError):
        top_terms(make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier()))
    with pytest.raises(NotFittedError):
        top_terms(MultiTaskTextClassifier(), ["a", "b"])
    with pytest.raises(InvalidParameterError):
        top_terms(pipeline, n_terms=0)
    with pytest.raises(InvalidParameterError):
        top_terms(LogisticRegression())
    other = make_pipeline(TfidfVectorizer(), LogisticRegression())
    with pytest.raises(TypeError, match="last step is LogisticRegression"):
        top_terms(other.fit(texts, Y["colour"]))


def test_top_terms_pipeline_without_feature_names(corpus):
    texts, Y = corpus
    model = make_pipeline(
        HashingVectorizer(n_features=2**10),
        MultiTaskTextClassifier(n_components=8, max_iter=5, random_state=0),
    ).fit(texts, Y)
    with pytest.raises(ValueError, match="Pass feature_names explicitly"):
        top_terms(model)
    names = [f"h{j}" for j in range(2**10)]
    terms = top_terms(model, names, n_terms=1)
    assert terms["alpha"]["pos"][0][0].startswith("h")


# ------------------------------------------------------------ task_similarity


def test_task_similarity_shape_symmetry_and_diagonal(pipeline):
    similarity = task_similarity(pipeline)
    assert similarity.shape == (len(TASKS), len(TASKS))
    assert similarity.dtype == np.float64
    assert_allclose(similarity, similarity.T)
    assert_array_equal(similarity.diagonal(), 1.0)
    assert np.all(similarity <= 1.0) and np.all(similarity >= -1.0)
    assert_array_equal(task_similarity(pipeline[-1]), similarity)


def test_task_similarity_shared_triggers_are_more_similar(pipeline):
    similarity = task_similarity(pipeline)
    alpha, beta, colour, animal = range(4)
    assert similarity[alpha, beta] > 0.8
    for unrelated in (colour, animal):
        assert similarity[alpha, beta] > abs(similarity[alpha, unrelated]) + 0.5
        assert similarity[alpha, beta] > abs(similarity[beta, unrelated]) + 0.5
    assert abs(similarity[colour, animal]) < 0.5


@pytest.mark.parametrize(
    "params", [{}, {"private": True}, {"private": True, "n_components": 0}],
    ids=["shared", "private", "private-only"],
)
def test_task_similarity_follows_the_definition(corpus, params):
    texts, Y = corpus
    params = {"n_components": 8, "max_iter": 30, "random_state": 0, **params}
    model = make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier(**params))
    model.fit(texts, Y)
    assert_allclose(task_similarity(model), _naive_similarity_any(model[-1]), atol=1e-9)


def test_task_similarity_is_signed_only_for_matching_classes(corpus):
    texts, Y = corpus
    params = {"n_components": 8, "max_iter": 30, "random_state": 0}
    # beta's labels swapped: the same words now favour the opposite label
    flipped = Y.copy()
    flipped["beta"] = Y["beta"].map({"neg": "pos", "pos": "neg"})
    model = make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier(**params))
    similarity = task_similarity(model.fit(texts, flipped))
    assert similarity[0, 1] < -0.8
    # with other label names the classes cannot be matched: the label-free
    # similarity of two binary tasks is |cos|
    renamed = Y.copy()
    renamed["beta"] = Y["beta"].map({"neg": "yes", "pos": "no"})
    model = make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier(**params))
    similarity_renamed = task_similarity(model.fit(texts, renamed))
    assert similarity_renamed[0, 1] == pytest.approx(-similarity[0, 1], abs=1e-6)


def test_task_similarity_zero_weights_task():
    clf = MultiTaskTextClassifier(n_components=3)
    clf.fit(np.eye(6), np.array([[0, 1]] * 3 + [[1, 0]] * 3))
    clf.head_coef_[2:] = 0.0  # task_1's head: all zero
    similarity = task_similarity(clf)
    assert_array_equal(similarity, np.eye(2))


def test_task_similarity_errors():
    with pytest.raises(NotFittedError):
        task_similarity(MultiTaskTextClassifier())
    with pytest.raises(NotFittedError):
        task_similarity(make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier()))
    with pytest.raises(InvalidParameterError):
        task_similarity("model")


def test_docstring_examples():
    """The Examples sections run (they fit small models on the demo corpus)."""
    results = doctest.testmod(skmtl.inspection, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0


# ------------------------------------------------------- multi-label tasks

# Trigger words of the labels of the multi-label tasks "tags" and "tags_b":
# two tasks with the same labels over different documents (as "alpha" and
# "beta" above). Each label is present on a document independently.
TAG_TRIGGERS = {"food": ["pizza", "bread"], "music": ["guitar", "song"],
                "sport": ["goal", "match"]}
TAGS = sorted(TAG_TRIGGERS)


def make_tagged_corpus(n_samples=400, seed=0):
    """Texts and a DataFrame target: "tags" (multi-label, first half of the
    rows), "animal" (3 classes, every row), "tags_b" (multi-label, second
    half). A multi-label task comes first, so that the heads of the later
    tasks are not at the task's index in class_offsets_."""
    rng = np.random.RandomState(seed)
    texts, rows = [], []
    for i in range(n_samples):
        tags = tuple(label for label in TAGS if rng.rand() < 0.4)
        animal = rng.choice(["cat", "dog", "fish"])
        words = [rng.choice(TAG_TRIGGERS[label]) for label in tags]
        words += [rng.choice(TRIGGERS["animal"][animal])]
        words += list(rng.choice(FILLER, size=4))
        rng.shuffle(words)
        texts.append(" ".join(words))
        first = i < n_samples // 2
        rows.append({"tags": tags if first else None, "animal": animal,
                     "tags_b": None if first else tags})
    return texts, pd.DataFrame(rows, columns=["tags", "animal", "tags_b"],
                               dtype=object)


@pytest.fixture(scope="module")
def tagged():
    return make_tagged_corpus()


@pytest.fixture(scope="module")
def tagged_pipeline(tagged):
    return _fit_pipeline(*tagged)


def _task_matrix(clf, t):
    """M_t of task_similarity, by its definition: centred class weights of a
    multiclass task, present-minus-absent weights of a multi-label task's
    labels (one explicit head after the other)."""
    classes = clf.classes_ if isinstance(clf.classes_, list) else [clf.classes_]
    head_task = np.repeat(np.arange(len(classes)),
                          [len(c) if m else 1
                           for c, m in zip(classes, clf.multilabel_)])
    heads = np.flatnonzero(head_task == t)
    columns = []
    for h in heads:
        lo, hi = clf.class_offsets_[h], clf.class_offsets_[h + 1]
        M = clf.shared_coef_ @ clf.head_coef_[lo:hi].T
        start = clf.private_offsets_[h]
        if start >= 0:  # the head's private part, in its own columns of U
            M = M + clf.private_coef_[:, start:start + hi - lo]
        M = M.astype(np.float64)
        if clf.multilabel_[t]:
            columns.append(M[:, 1:2] - M[:, 0:1])
        else:
            columns.append(M - M.mean(axis=1, keepdims=True))
    return np.hstack(columns)


def _naive_similarity_any(clf):
    M = [_task_matrix(clf, t) for t in range(clf.n_tasks_)]
    classes = clf.classes_
    out = np.eye(clf.n_tasks_)
    for s in range(clf.n_tasks_):
        for t in range(clf.n_tasks_):
            if s == t:
                continue
            if np.array_equal(classes[s], classes[t]):
                out[s, t] = np.sum(M[s] * M[t]) / (
                    np.linalg.norm(M[s]) * np.linalg.norm(M[t]))
            else:
                out[s, t] = np.linalg.norm(M[s].T @ M[t]) / np.sqrt(
                    np.linalg.norm(M[s].T @ M[s]) * np.linalg.norm(M[t].T @ M[t]))
    return out


def test_top_terms_per_label_of_a_multilabel_task(tagged_pipeline):
    terms = top_terms(tagged_pipeline, n_terms=2)
    assert list(terms) == ["tags", "animal", "tags_b"]
    for task in ("tags", "tags_b"):
        assert list(terms[task]) == TAGS
        for label, words in TAG_TRIGGERS.items():
            found = [term for term, _ in terms[task][label]]
            assert sorted(found) == sorted(words), (task, label, found)
            assert all(weight > 0 for _, weight in terms[task][label])
    # The multiclass task after a multi-label one reads its own head.
    for label, words in TRIGGERS["animal"].items():
        assert sorted(t for t, _ in terms["animal"][label]) == sorted(words)


def test_top_terms_of_a_label_is_present_minus_absent(tagged_pipeline):
    clf = tagged_pipeline[-1]
    names = tagged_pipeline[0].get_feature_names_out()
    terms = top_terms(tagged_pipeline, n_terms=len(names))
    index = {name: j for j, name in enumerate(names)}
    for t, task in enumerate(clf.task_names_):
        M = _task_matrix(clf, t)
        K = M.shape[1]
        for c, label in enumerate(clf.classes_[t]):
            if clf.multilabel_[t]:
                expected = M[:, c]
            else:  # centred: w_c - mean of the others = K / (K - 1) * column
                expected = M[:, c] * K / (K - 1)
            got = np.zeros(len(names))
            for term, weight in terms[task][label]:
                got[index[term]] = weight
            assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_top_terms_single_multilabel_task(tagged):
    texts, Y = tagged
    labelled = Y["tags"].notna().to_numpy()
    cells = [set(c) for c in Y["tags"][labelled]]
    model = make_pipeline(
        TfidfVectorizer(),
        MultiTaskTextClassifier(n_components=8, max_iter=30, private=True,
                                random_state=0),
    ).fit(np.array(texts, dtype=object)[labelled], cells)
    ((task, per_label),) = top_terms(model, n_terms=2).items()
    assert task == model[-1].task_names_[0] and list(per_label) == TAGS
    for label, words in TAG_TRIGGERS.items():
        assert sorted(t for t, _ in per_label[label]) == sorted(words)
    assert_array_equal(task_similarity(model), [[1.0]])


@pytest.mark.parametrize("params", [{}, {"private": True}],
                         ids=["shared", "private"])
def test_task_similarity_with_multilabel_tasks(tagged, params):
    texts, Y = tagged
    params = {"n_components": 8, "max_iter": 30, "random_state": 0, **params}
    model = make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier(**params))
    similarity = task_similarity(model.fit(texts, Y))
    assert_allclose(similarity, _naive_similarity_any(model[-1]), atol=1e-9)
    assert_allclose(similarity, similarity.T)
    assert_array_equal(similarity.diagonal(), 1.0)
    tags, animal, tags_b = range(3)
    # Same labels, same trigger words, different documents.
    assert similarity[tags, tags_b] > 0.8
    assert similarity[tags, tags_b] > similarity[tags, animal] + 0.5


def test_task_similarity_multilabel_is_signed_by_label(tagged):
    texts, Y = tagged
    params = {"n_components": 8, "max_iter": 30, "random_state": 0}
    # tags_b's labels renamed into each other: the same words now make other
    # labels present. The labels still match by name, so the cosine drops.
    swap = {"food": "music", "music": "sport", "sport": "food"}
    rotated = Y.assign(tags_b=Y["tags_b"].map(
        lambda c: None if c is None else tuple(sorted(swap[x] for x in c))))
    model = make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier(**params))
    similarity = task_similarity(model.fit(texts, rotated))
    assert similarity[0, 2] < 0.3
    # Other label names cannot be matched: the label-free measure finds the
    # tasks alike again.
    renamed = Y.assign(tags_b=Y["tags_b"].map(
        lambda c: None if c is None else tuple(x.upper() for x in c)))
    model = make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier(**params))
    assert task_similarity(model.fit(texts, renamed))[0, 2] > 0.8


def test_inspection_of_a_task_learned_with_one_class(tagged):
    texts, Y = tagged
    one = Y.assign(animal="cat")
    model = make_pipeline(
        TfidfVectorizer(),
        MultiTaskTextClassifier(n_components=8, max_iter=5, random_state=0),
    )
    with pytest.warns(UserWarning, match="Task 'animal' has only one class"):
        model.fit(texts, one)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        terms = top_terms(model, n_terms=2)
        similarity = task_similarity(model)
    assert terms["animal"] == {"cat": []}
    assert len(terms["tags"]["food"]) == 2
    assert_array_equal(similarity[1], [0.0, 1.0, 0.0])


def test_inspection_checks_the_fitted_state(tagged_pipeline):
    clf = copy.deepcopy(tagged_pipeline[-1])
    clf.multilabel_ = np.array([False, False, True])
    for inspect in (top_terms, task_similarity):
        with pytest.raises(ValueError, match="class_offsets_"):
            inspect(clf)
