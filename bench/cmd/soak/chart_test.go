package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// fakeReport returns a report of two servers with n samples each, over
// the four phases.
func fakeReport(n int) *report {
	rep := &report{
		Pass:   true,
		Config: reportConfig{Duration: "10m0s"},
		Phases: []phaseMark{{phaseStart, 0}, {phaseWarmup, 0}, {phaseBaseline, 30}, {phaseSoak, 31}, {phaseSettle, 631}, {phaseEnd, 632}},
	}
	for k, name := range []string{"echo", "kv"} {
		s := serverReport{Name: name}
		for i := range n {
			s.Samples = append(s.Samples, Sample{
				T:          float64(i) * 632 / float64(n-1),
				RSS:        int64(10+k+i%3) << 20,
				FDs:        15 + 72*(i%2),
				Goroutines: 8 + k,
			})
		}
		rep.Servers = append(rep.Servers, s)
	}
	return rep
}

func TestChartIsWellFormedSVG(t *testing.T) {
	var b bytes.Buffer
	if err := writeChart(&b, fakeReport(130)); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&b)
	var root string
	polylines, texts := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if el, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = el.Name.Space + " " + el.Name.Local
			}
			switch el.Name.Local {
			case "polyline":
				polylines++
				for _, a := range el.Attr {
					if a.Name.Local == "points" {
						if n := len(strings.Fields(a.Value)); n != 130 {
							t.Errorf("a line of %d points, want one per sample, 130", n)
						}
					}
				}
			case "text":
				texts++
			}
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Fatalf("root element %q, want svg in the SVG namespace", root)
	}
	if polylines != 3*2 {
		t.Fatalf("%d lines, want one per server in each of the three panels", polylines)
	}
	if texts == 0 {
		t.Fatal("no labels")
	}
}

func TestChartEscapesNames(t *testing.T) {
	rep := fakeReport(10)
	rep.Servers[0].Name = `<kv & "friends">`
	var b bytes.Buffer
	if err := writeChart(&b, rep); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&b)
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("a name with markup in it broke the XML: %v", err)
		}
	}
}

func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ raw, want float64 }{
		{0.3, 0.5}, {1, 1}, {1.1, 2}, {3, 5}, {7, 10}, {19, 20}, {158, 200}, {0.02, 0.02},
	} {
		if got := niceStep(c.raw); got != c.want {
			t.Errorf("niceStep(%v) = %v, want %v", c.raw, got, c.want)
		}
	}
}
