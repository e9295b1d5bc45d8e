-- expect: instructions
-- call: attack
-- why: a coroutine catches the budget error and yields; the caller resumes it forever

function attack()
  local co = coroutine.create(function()
    while true do
      pcall(function() while true do end end)  -- swallow the budget error...
      coroutine.yield()                        -- ...and hand control back
    end
  end)
  while true do coroutine.resume(co) end       -- ignore failures, keep going
end
