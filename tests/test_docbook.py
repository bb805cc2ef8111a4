from lxml import etree

from contract.spec.wadl.docbook import to_markdown

DOC = ('<doc xmlns="http://wadl.dev.java.net/2009/02" xmlns:db="http://docbook.org/ns/docbook"'
       ' xmlns:xlink="http://www.w3.org/1999/xlink">{}</doc>')


def render(inner: str) -> str:
    return to_markdown(etree.fromstring(DOC.format(inner)))


def test_bare_text_collapses_whitespace():
    assert render("Specifies   the\n    service.  ") == "Specifies the service."


def test_paragraphs_are_separated_by_a_blank_line():
    assert render("<db:para>One.</db:para>\n<db:para>Two.</db:para>") == "One.\n\nTwo."


def test_code_link_and_emphasis_inline():
    text = render('Set <db:code>hard</db:code> to <db:emphasis>true</db:emphasis>, see '
                  '<db:link xlink:href="https://x.test/a">the page</db:link>.')
    assert text == "Set `hard` to *true*, see [the page](https://x.test/a)."


def test_bold_emphasis_and_link_without_text():
    text = render('<db:emphasis role="bold">Key</db:emphasis> <db:link xlink:href="https://x.test"/>')
    assert text == "**Key** <https://x.test>"


def test_note_becomes_a_labelled_blockquote():
    assert render("<db:note><db:para>By default <db:code>hard</db:code> is true.</db:para>"
                  "</db:note>") == "> **Note:** By default `hard` is true."


def test_itemized_and_ordered_lists():
    items = "<db:listitem><db:para>a</db:para></db:listitem><db:listitem>b</db:listitem>"
    assert render(f"<db:itemizedlist>{items}</db:itemizedlist>") == "- a\n- b"
    assert render(f"<db:orderedlist>{items}</db:orderedlist>") == "1. a\n2. b"


def test_programlisting_keeps_its_layout_in_a_fence():
    text = render("<db:programlisting>{\n  \"a\": 1\n}</db:programlisting>")
    assert text == '```\n{\n  "a": 1\n}\n```'


def test_markdown_metacharacters_in_text_are_escaped_but_not_in_code():
    text = render("Match *.png or errors[] and <db:code>*.png</db:code>; service_id stays")
    assert text == r"Match \*.png or errors\[\] and `*.png`; service_id stays"


def test_inline_content_around_a_block_forms_its_own_paragraphs():
    assert render("Before <db:note><db:para>n</db:para></db:note> after") == \
        "Before\n\n> **Note:** n\n\nafter"
