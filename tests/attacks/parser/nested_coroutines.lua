-- expect: script
-- call: attack
-- why: each coroutine resumes a new one inside itself: Lua caps nested resumes ('C stack overflow'), rethrown

function attack()
  local function dive()
    local ok, err = coroutine.resume(coroutine.create(dive))
    if not ok then error(err, 0) end
  end
  dive()
end
