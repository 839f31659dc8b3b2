"""tracker/web/widgets.py: drop-down options rendered once per list."""

from __future__ import annotations

from markupsafe import Markup

from tracker.web.widgets import select_options

CHOICES = (("1", "区发改委"), ("2", "<script>x</script>"), ("3", "区财政局 & 区税务局"))


def test_options_escape_their_labels_and_values():
    html = select_options(CHOICES)
    assert isinstance(html, Markup)
    assert html == (
        '<option value="1">区发改委</option>'
        '<option value="2">&lt;script&gt;x&lt;/script&gt;</option>'
        '<option value="3">区财政局 &amp; 区税务局</option>'
    )
    assert select_options((('"><b>', "x"),)) == '<option value="&#34;&gt;&lt;b&gt;">x</option>'


def test_the_chosen_value_is_selected_and_the_cached_list_is_not_changed():
    chosen = select_options(CHOICES, "3")
    assert '<option value="3" selected>' in chosen and chosen.count("selected") == 1
    assert "selected" not in select_options(CHOICES)  # the cached, unselected list stays as it was
    assert select_options(CHOICES, "None") == select_options(CHOICES)  # nothing chosen (``none|string``)
    assert select_options(list(CHOICES), Markup("1")).count("selected") == 1  # a list and a Markup value work too
