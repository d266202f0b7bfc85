-- wrk: every request carries the bearer token given as the script's first argument.
init = function(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end
