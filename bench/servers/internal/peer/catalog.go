package peer

import (
	"fmt"
	"slices"
	"strings"
)

// Names returns the implementations a servers package starts, the keys of
// its starters, sorted with "std" (the baseline every ratio is taken
// against) first.
func Names[F any](starters map[string]F) []string {
	names := make([]string, 0, len(starters))
	for name := range starters {
		if name != "std" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if _, ok := starters["std"]; ok {
		names = append([]string{"std"}, names...)
	}
	return names
}

// Lookup returns the starter of impl, or an error that names the package
// (kind) and the implementations it has.
func Lookup[F any](kind string, starters map[string]F, impl string) (F, error) {
	start, ok := starters[impl]
	if !ok {
		return start, fmt.Errorf("%s: unknown implementation %q (have: %s)", kind, impl, strings.Join(Names(starters), ", "))
	}
	return start, nil
}
