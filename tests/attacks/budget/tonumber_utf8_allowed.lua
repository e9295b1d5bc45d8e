-- expect: ok
-- call: attack
-- why: control: the charged tonumber, utf8.len and utf8.offset answer as Lua's own
-- result: [12.5, 255, 7, true, 5, 4, 1]
function attack()
  return {tonumber("12.5"), tonumber("ff", 16), tonumber(7), tonumber("x") == nil, utf8.len("h\u{E9}llo"),
          utf8.offset("h\u{E9}llo", 3), select(2, utf8.len("\xff"))}
end
