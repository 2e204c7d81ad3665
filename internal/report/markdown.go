package report

import (
	"bytes"
	"strings"
)

// defaultTitle is used when Data.Title is empty.
const defaultTitle = "RLAIF vs SFT report"

// renderMarkdown writes report.md: the title, the run line and the
// sections' tables and paragraphs (plots are not embedded).
func renderMarkdown(d Data, secs []section) []byte {
	var b bytes.Buffer
	b.WriteString("# " + mdEscape(titleOf(d)) + "\n\n")
	if line := runLine(d); line != "" {
		b.WriteString(mdEscape(line) + "\n\n")
	}
	for _, s := range secs {
		b.WriteString("## " + mdEscape(s.heading) + "\n\n")
		if s.table == nil && len(s.paras) == 0 {
			b.WriteString(noData + "\n\n")
			continue
		}
		if s.table != nil {
			writeMarkdownTable(&b, s.table)
			b.WriteString("\n")
		}
		for _, p := range s.paras {
			b.WriteString(mdEscape(p) + "\n\n")
		}
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

func writeMarkdownTable(b *bytes.Buffer, t *table) {
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + mdEscape(c) + " |")
		}
		b.WriteString("\n")
	}
	row(t.header)
	b.WriteString("|")
	for _, n := range t.num {
		if n {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		row(r)
	}
}

func titleOf(d Data) string {
	if strings.TrimSpace(d.Title) == "" {
		return defaultTitle
	}
	return d.Title
}

// runLine is "Generated <ts> · wall time <t>", either part left out when
// not known.
func runLine(d Data) string {
	var parts []string
	if d.Generated != "" {
		parts = append(parts, "Generated "+d.Generated)
	}
	if w := formatWall(d.WallSeconds); w != "" {
		parts = append(parts, "wall time "+w)
	}
	return strings.Join(parts, " · ")
}

// mdReplacer backslash-escapes the characters that would make plain text
// turn into markdown or raw HTML (CommonMark allows a backslash before any
// ASCII punctuation), and folds line breaks into spaces.
var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "&", `\&`, "|", `\|`, "#", `\#`,
	"\r\n", " ", "\n", " ", "\r", " ",
)

// mdEscape makes s safe as one markdown paragraph, heading or cell.
func mdEscape(s string) string { return mdReplacer.Replace(s) }
