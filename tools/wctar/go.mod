module wctar

go 1.19
