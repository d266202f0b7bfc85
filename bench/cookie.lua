-- wrk: every request carries the signed-in session cookie given as the script's first argument.
init = function(args)
  wrk.headers["Cookie"] = args[1]
end
