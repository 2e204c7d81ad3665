package report

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
)

// htmlCell is one table cell; Num right-aligns it.
type htmlCell struct {
	Text template.HTML // escaped by escapeText
	Num  bool
}

// escapeText HTML-escapes plain text for an element's content. It is
// html.EscapeString (<, >, &, ' and "), which, unlike html/template's own
// escaper, leaves "+" alone, so a cell reads "+1.00" in the source exactly
// as in report.md.
func escapeText(s string) template.HTML { return template.HTML(html.EscapeString(s)) }

// htmlSection is a section as the template sees it.
type htmlSection struct {
	ID, Heading   string
	Plot, PlotAlt string // Plot is "" when the section has no plot
	PlotWritten   bool   // false: the plot's data was empty and the file was left out
	Header        []htmlCell
	Rows          []htmlRow
	Paras         []template.HTML // escaped by escapeText
	NoData        bool            // no table, paragraphs or plot
}

// htmlRow is one table row; Summary marks a row that summarises the others
// (drawn bold).
type htmlRow struct {
	Cells   []htmlCell
	Summary bool
}

type htmlView struct {
	Title, RunLine string
	Sections       []htmlSection
}

// renderHTML renders index.html; written says which plot files exist.
func renderHTML(d Data, secs []section, written map[string]bool) ([]byte, error) {
	v := htmlView{Title: titleOf(d), RunLine: runLine(d)}
	for _, s := range secs {
		hs := htmlSection{ID: s.id, Heading: s.heading, Plot: s.plot, PlotAlt: s.plotAlt,
			PlotWritten: written[s.plot]}
		for _, p := range s.paras {
			hs.Paras = append(hs.Paras, escapeText(p))
		}
		if t := s.table; t != nil {
			hs.Header = cells(t.header, t.num)
			for i, r := range t.rows {
				hs.Rows = append(hs.Rows, htmlRow{Cells: cells(r, t.num), Summary: t.summary && i == len(t.rows)-1})
			}
		}
		hs.NoData = s.table == nil && len(s.paras) == 0 && s.plot == ""
		v.Sections = append(v.Sections, hs)
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("report: render html: %w", err)
	}
	return b.Bytes(), nil
}

func cells(texts []string, num []bool) []htmlCell {
	cs := make([]htmlCell, len(texts))
	for i, t := range texts {
		cs[i] = htmlCell{Text: escapeText(t), Num: i < len(num) && num[i]}
	}
	return cs
}

var pageTemplate = template.Must(template.New("index.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2em auto; max-width: 800px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.run { color: #666; margin-top: 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #e4e4e4; text-align: left; }
th { border-bottom: 2px solid #bbb; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.summary td { font-weight: bold; border-top: 2px solid #bbb; }
.nodata { color: #888; font-style: italic; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .RunLine}}<p class="run">{{.}}</p>
{{end}}
{{- range .Sections}}
<section id="{{.ID}}">
<h2>{{.Heading}}</h2>
{{- if .Plot}}
{{if .PlotWritten}}<figure><img src="{{.Plot}}" alt="{{.PlotAlt}}"></figure>{{else}}<p class="nodata">{{.Plot}}: no data</p>{{end}}
{{- end}}
{{- if .Header}}
<table>
<thead><tr>{{range .Header}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr{{if .Summary}} class="summary"{{end}}>{{range .Cells}}<td{{if .Num}} class="num"{{end}}>{{.Text}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- range .Paras}}
<p>{{.}}</p>
{{- end}}
{{- if .NoData}}
<p class="nodata">No data.</p>
{{- end}}
</section>
{{- end}}
</body>
</html>
`))
