module asyncbench/peers/go

go 1.19
