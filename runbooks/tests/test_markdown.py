"""A runbook's Markdown: what reaches the page, and which lines become checklist steps."""

from runbooks.markdown import checklist_steps, render_markdown


def test_headings_lists_code_and_links_render():
    html = render_markdown(
        "# Disk full\n\n## Check\n\n1. Run `df -h`\n2. Clear logs\n\n- a bullet\n\n"
        "```sh\njournalctl --vacuum-size=1G\n```\n\n[Grafana](https://grafana.example.com/d/disk)\n"
    )
    assert "<h1>Disk full</h1>" in html
    assert "<h2>Check</h2>" in html
    assert "<ol>\n<li>Run <code>df -h</code></li>\n<li>Clear logs</li>\n</ol>" in html
    assert "<ul>\n<li>a bullet</li>\n</ul>" in html
    assert '<pre><code class="language-sh">journalctl --vacuum-size=1G\n</code></pre>' in html
    assert '<a href="https://grafana.example.com/d/disk" rel="noopener noreferrer">Grafana</a>' in html


def test_raw_html_arrives_as_text_never_as_markup():
    html = render_markdown('<script>window.ran=1</script>\n\n<img src=x onerror="window.ran=1">\n\n<b onclick=x>b</b>')
    assert "<script" not in html
    assert "<img" not in html
    assert "<b" not in html
    assert "&lt;script&gt;" in html  # shown, so the reader sees what was written


def test_javascript_and_data_urls_are_not_links():
    html = render_markdown(
        "[one](javascript:alert(1)) [two](JAVASCRIPT:alert(1)) [three](data:text/html,<script>x</script>) "
        "![img](javascript:alert(1)) <javascript:alert(1)>"
    )
    assert 'href="javascript' not in html.lower()
    assert 'src="javascript' not in html.lower()
    assert 'href="data:' not in html.lower()


def test_mailto_and_relative_links_stay_links_with_rel():
    html = render_markdown("[mail](mailto:oncall@example.com) [other](/runbooks/2/)")
    assert '<a href="mailto:oncall@example.com" rel="noopener noreferrer">mail</a>' in html
    assert '<a href="/runbooks/2/" rel="noopener noreferrer">other</a>' in html


def test_an_event_handler_attribute_never_survives_even_from_a_table():
    html = render_markdown('| a | b |\n|---|:-:|\n| <td onmouseover="x"> | `y` |')
    assert "<td onmouseover" not in html
    assert "&lt;td onmouseover" in html
    assert "<table>" in html
    assert '<td style="text-align:center"><code>y</code></td>' not in html  # style attributes go (CSP)
    assert "<code>y</code></td>" in html


def test_checklist_steps_are_the_top_level_numbered_items_as_plain_text():
    body = (
        "# Disk full\n\nIntro.\n\n1. Check `df -h`\n   - a sub-bullet\n   1. a nested number\n"
        "2. Clear **old** logs\n   continued\n\n- a bullet, not a step\n\n3. Tell the [channel](https://x.example)\n"
    )
    assert checklist_steps(body) == ["Check df -h", "Clear old logs continued", "Tell the channel"]


def test_a_body_without_numbered_items_has_no_steps():
    assert checklist_steps("# Notes\n\n- one\n- two\n\n```\n1. in code\n```\n") == []
