package httpx

import "testing"

func TestListElementsAreSplitAndTrimmed(t *testing.T) {
	var got []string
	for rest := []byte(" keep-alive ,\tUpgrade,,close "); rest != nil; {
		var elem []byte
		elem, rest = NextListElem(rest)
		got = append(got, string(elem))
	}
	want := []string{"keep-alive", "Upgrade", "", "close"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestEqualFoldAndTokens(t *testing.T) {
	if !EqualFold([]byte("Keep-ALIVE"), "keep-alive") || EqualFold([]byte("keep-alive!"), "keep-alive") || EqualFold([]byte("close"), "clone") {
		t.Error("EqualFold")
	}
	for s, want := range map[string]bool{"GET": true, "x-my_header.1~": true, "": false, "a b": false, "a:b": false, "é": false} {
		if IsToken([]byte(s)) != want {
			t.Errorf("IsToken(%q) = %v", s, !want)
		}
	}
	if !IsDigit('0') || !IsDigit('9') || IsDigit('a') || IsDigit('/') {
		t.Error("IsDigit")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = NextListElem([]byte("a, b")); _ = IsToken([]byte("GET")) }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}
