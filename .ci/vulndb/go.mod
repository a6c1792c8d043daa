module parley.local/ci/vulndb

go 1.26.8
