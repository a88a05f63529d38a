; JavaScript, TypeScript and TSX: the captures their grammars share. Each language's own
; file is appended to this one. Capture names say what a node is:
;   @function        function declarations, methods, and function or arrow expressions
;                    given a name (assigned to a variable, property or key)
;   @type            classes
;   @error_handling  try / catch / finally

(function_declaration) @function

(generator_function_declaration) @function

(method_definition) @function

(variable_declarator
  value: [(arrow_function) (function_expression) (generator_function)] @function)

(assignment_expression
  right: [(arrow_function) (function_expression) (generator_function)] @function)

(pair
  value: [(arrow_function) (function_expression) (generator_function)] @function)

(class_declaration) @type

(variable_declarator value: (class) @type)

(try_statement) @error_handling
