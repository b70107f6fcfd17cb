"""Volcano figure: x = log2FC, y = |CD|; concordant up blue, down red, darker when stronger; discordant grey."""

import numpy as np

from search.plots import DOWN_RGB, GREY, UP_RGB, shade, shades, volcano_figure


def _p(sig, cd, logfc, direction):
    return {"sig_id": sig, "perturbagen": "drug", "cell_line": "A549", "dose": 10.0, "dose_unit": "uM", "time": 24.0, "time_unit": "h", "cd": cd, "logfc": logfc, "rank": 3, "direction": direction}


def _rgb(s):
    return tuple(int(v) for v in s[4:-1].split(","))


def test_points_go_to_concordant_and_discordant_traces_with_their_colours():
    fig = volcano_figure([_p("a", 0.5, 2.0, "up"), _p("b", 0.05, 0.2, "up"), _p("c", -0.4, -1.5, "down"), _p("d", 0.3, -0.8, "up")])
    up, down, disc = fig["data"]
    assert (up["customdata"], down["customdata"], disc["customdata"]) == (["a", "b"], ["c"], ["d"])
    assert up["x"] == [2.0, 0.2] and up["y"] == [0.5, 0.05] and down["y"] == [0.4]
    assert disc["marker"]["color"] == [GREY]
    strong, weak = (_rgb(c) for c in up["marker"]["color"])
    assert strong[2] > strong[0] and sum(strong) < sum(weak)  # blue, darker for the stronger point
    red = _rgb(down["marker"]["color"][0])
    assert red[0] > red[2]
    assert "A549" in up["text"][0] and "10 uM" in up["text"][0] and "log2FC 2" in up["text"][0]
    assert fig["layout"]["xaxis"]["title"]["text"] == "log2 fold change"


def test_empty_figure_is_valid():
    fig = volcano_figure([])
    assert [t["x"] for t in fig["data"]] == [[], [], []]


def test_hover_text_shows_markup_in_names_as_text():
    hostile = dict(_p("a", 0.5, 2.0, "up"), perturbagen="<a href='javascript:alert(1)'>x</a>", cell_line="<b>A549</b>", dose_unit="<i>uM")
    text = volcano_figure([hostile])["data"][0]["text"][0]
    assert "<a" not in text and "<b>" not in text and "<i>" not in text
    assert text.startswith("&lt;a href=&#x27;javascript:alert(1)&#x27;&gt;x&lt;/a&gt;<br>cell line &lt;b&gt;A549&lt;/b&gt;")


def test_shades_of_an_array_equal_shade_of_each_value():
    strength = np.concatenate([np.random.default_rng(0).random(500), [0.0, 1.0, -0.5, 2.0, 0.5, 1 / 3]])
    for rgb in (UP_RGB, DOWN_RGB):
        assert shades(rgb, strength) == [shade(rgb, float(s)) for s in strength]


def test_each_concordant_point_is_shaded_as_shade_computes_it_alone():
    import math

    rng = np.random.default_rng(1)
    points = [_p(str(i), float(cd), float(fc), "up" if cd > 0 else "down") for i, (cd, fc) in enumerate(rng.standard_normal((300, 2)))]
    strongest = max(abs(p["cd"] * p["logfc"]) for p in points)
    by_sig = {p["sig_id"]: p for p in points}
    for trace, rgb in zip(volcano_figure(points)["data"][:2], (UP_RGB, DOWN_RGB)):
        expected = [shade(rgb, math.sqrt(abs(by_sig[s]["cd"] * by_sig[s]["logfc"]) / strongest)) for s in trace["customdata"]]
        assert trace["marker"]["color"] == expected and expected


def test_figures_json_reads_back_as_djangos_json_script_and_hides_markup():
    import json
    import re

    from django.utils.html import json_script

    from search.templatetags.search_tags import figures_json

    value = {"data": [{"name": "</script><b>&", "x": [1.5, -2.0]}], "layout": {"title": {"text": "a < b > c"}}}
    ours, django = str(figures_json(value, "volcano-figures")), str(json_script(value, "volcano-figures"))
    body = lambda html: re.fullmatch(r'<script id="volcano-figures" type="application/json">(.*)</script>', html, re.S).group(1)  # noqa: E731
    assert json.loads(body(ours)) == json.loads(body(django)) == value
    assert not re.search(r"[<>&]", body(ours))
