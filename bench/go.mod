module github.com/metalio/metal/bench

go 1.26.0
