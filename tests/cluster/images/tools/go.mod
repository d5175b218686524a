// Small static programs for the test cluster's images (standard library only).
module kubectl-shark.test/tools

go 1.24
